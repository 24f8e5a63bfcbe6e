"""Check kinds whose planning, requests and judging live in one module each."""
