path "database/creds/app" {
  capabilities = ["read"]
}
