module github.com/concordhq/concord/bench/sdkload

go 1.26.0

require github.com/concordhq/concord/sdks/go v0.1.0

replace github.com/concordhq/concord/sdks/go => ../../sdks/go
