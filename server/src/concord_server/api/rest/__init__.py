"""REST transport: routes transcoded from the contract's HTTP bindings."""
