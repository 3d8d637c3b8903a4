"""safegrid's common library: infrastructure and contracts only, never domain rules."""
