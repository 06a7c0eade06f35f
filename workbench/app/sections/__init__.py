"""Sections of the app's pages: each a render function a page calls with what it has chosen."""
