"""The portal service: Public QR pages, risk map, dashboards and the public evaluation API."""
