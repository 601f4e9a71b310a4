"""Domain services: the business rules, free of transports and storage engines."""
