# A basic probectl install: PostgreSQL's URL and the encryption key in Secrets made by sealed-secrets
# or external-secrets (docs/deploy.md), a certificate from cert-manager, the "medium" size.
# Nothing secret is in this file or in the state.

provider "helm" {
  kubernetes = {
    config_path = var.kubeconfig
  }
}

module "probectl" {
  source = "../../modules/probectl"

  namespace = "probectl"
  size      = "medium"

  database_secret_name   = "probectl-database"
  encryption_secret_name = "probectl-encryption"
  cert_manager_issuer    = { name = "internal-ca" }

  database_namespace  = "databases"
  database_pod_labels = { "app.kubernetes.io/name" = "postgresql" }
  ingress_namespaces  = ["ingress-nginx", "monitoring"]

  integration_egress = [
    { name = "splunk-hec", cidrs = ["10.40.0.0/24"], ports = [8088] },
    { name = "vault", namespace = "vault", ports = [8200], secret_backend = true },
  ]

  config = {
    PROBECTL_SECRETS_VAULT_ADDR = "https://vault.vault.svc:8200"
    PROBECTL_SIEM_ENABLED       = "true"
    PROBECTL_SIEM_PRESET        = "splunk"
    PROBECTL_SIEM_ENDPOINT      = "https://splunk-hec.siem.corp.test:8088/services/collector/event"
  }
  # Credential variables never go in config (the module refuses them there): from a Secret.
  secret_env = [
    { name = "PROBECTL_SIEM_TOKEN", secret_name = "probectl-siem", key = "token" },
  ]
}

output "probectl_url" {
  value = module.probectl.url
}
