"""The portal's pure rules: what the public may see of a grade, rate limits, a report's status."""
