# admin
path "database/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/leases/+/x*" { policy = "sudo" }
/* c */ path "a" { capabilities = ["deny"] }
