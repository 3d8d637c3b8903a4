"""The registry service: The ledger: jurisdictions, enterprises, equipment, operators, accidents and QR tokens."""
