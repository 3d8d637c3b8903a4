"""What enforcement knows of enterprises, grids and accidents, built only from events."""
