"""openapiopenai: placeholder, replaced below."""
