"""RPC handlers: map contract messages to domain calls, one class per service."""
