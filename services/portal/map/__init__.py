"""The risk map (一图可知) for regulators: every unit as a point coloured by grade, filterable by
jurisdiction, equipment category, grade and key supervision; as GeoJSON for a map client and as
a server-rendered SVG (clustered when zoomed out, no tiles, nothing loaded from the internet);
and the click-through: one unit's grade history and open alerts."""
