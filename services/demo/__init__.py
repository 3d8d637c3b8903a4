"""The demo city 日照市 across every service (``safegrid demo load``): not a service of its own."""
