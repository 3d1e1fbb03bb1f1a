"""Storage administration: `storage init` sets the bucket up (CORS, lifecycle rules, policy),
`storage check` probes what it enforces. Operator tools, apart from the blob-storage port."""
