"""etcd backends."""
