"""What the public sends back: ratings (1-5, comments moderated before shown) and problem
reports (with a receipt whose page follows the report's status as enforcement moves it)."""
