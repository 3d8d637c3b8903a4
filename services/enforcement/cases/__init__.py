"""Cases (立案) and decisions under the legal-basis catalogue; orders to correct (责令改正)."""
