"""SID: See-in-the-Dark RAW low-light dataset (sony, fuji) and its embedded synthetic twin."""
