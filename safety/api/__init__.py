"""The HTTP API (flask-smorest): OpenAPI generated from the marshmallow schemas."""
