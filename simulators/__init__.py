"""Fake devices and peers that speak the real protocols over real connections."""
