"""The five safegrid services, one package each, with the same file set inside."""
