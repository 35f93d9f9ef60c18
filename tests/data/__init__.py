"""Small data files for the tests, and the tool that made them."""
