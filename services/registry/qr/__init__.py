"""QR codes: one per enterprise (一企一码), one per piece of equipment (风险防控码), their
printable labels and the public resolution of a scanned token."""
