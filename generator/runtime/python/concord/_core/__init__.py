"""The hand-written runtime core of the Concord SDK: HTTP, retries, errors, paging, streams."""
