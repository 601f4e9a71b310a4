module concord.example/thirdparty

go 1.23

require github.com/GIT_USER_ID/GIT_REPO_ID v0.0.0

// The client OpenAPI Generator writes (default module path), generated next to this program.
replace github.com/GIT_USER_ID/GIT_REPO_ID => ./generated
