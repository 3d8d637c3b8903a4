"""Association pages (行业协会): an association sees its member units' grades and open alerts and
sends them notices; nothing about non-members. Members read the notices sent to them."""
