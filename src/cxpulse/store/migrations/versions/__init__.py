"""One module per schema revision; the package marker makes setuptools ship them."""
