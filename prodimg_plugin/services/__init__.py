"""The one layer that turns Django objects into `ml` inputs and stores what `ml` returns."""
