"""The Open311 GeoReport v2 facade over intake, under /open311/v2/."""
