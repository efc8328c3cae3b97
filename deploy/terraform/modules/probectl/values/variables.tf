# The chart values this module builds: each variable maps onto a value of
# deploy/helm/probectl/values.schema.json (a test renders them with helm and validates them against it).
# No variable takes a secret value: credentials are named by the Secrets that hold them, or are secret
# references (vault:, aws:, azure:, gcp:, cyberark:) probectl resolves at use time, so nothing secret
# lands in the OpenTofu/Terraform state.

variable "image_repository" {
  description = "Image repository (built from deploy/Dockerfile)."
  type        = string
  default     = "ghcr.io/probectl/probectl"
}

variable "image_tag" {
  description = "Image tag; null for the chart's appVersion."
  type        = string
  default     = null
}

variable "image_digest" {
  description = "Image digest (sha256:...); recommended."
  type        = string
  default     = null
  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256:<64 hex digits>."
  }
}

variable "database_secret_name" {
  description = "Secret holding the PostgreSQL URL (chart value database.existingSecret)."
  type        = string
  validation {
    condition     = length(var.database_secret_name) > 0
    error_message = "database_secret_name names the Secret with the PostgreSQL URL (sealed-secrets or external-secrets make it)."
  }
}

variable "database_url_key" {
  description = "Key of the URL in database_secret_name (database.urlKey)."
  type        = string
  default     = "url"
}

variable "database_password_key" {
  description = "Key of the password in database_secret_name, or empty (database.passwordKey)."
  type        = string
  default     = ""
}

variable "database_ca_config_map" {
  description = "ConfigMap with the PostgreSQL server's CA under ca.crt, or empty (database.ca.configMapName)."
  type        = string
  default     = ""
}

variable "encryption_secret_name" {
  description = "Secret holding PROBECTL_ENCRYPTION_KEY (encryption.existingSecret)."
  type        = string
  validation {
    condition     = length(var.encryption_secret_name) > 0
    error_message = "encryption_secret_name names the Secret with the encryption key (openssl rand -base64 32)."
  }
}

variable "encryption_key_key" {
  description = "Key of the encryption key in encryption_secret_name (encryption.secretKey)."
  type        = string
  default     = "key"
}

variable "encryption_previous_key_key" {
  description = "Key of the previous encryption key while rotating, or empty (encryption.previousSecretKey)."
  type        = string
  default     = ""
}

variable "tls_secret_name" {
  description = "kubernetes.io/tls Secret with the server certificate (tls.existingSecret); null to use cert-manager."
  type        = string
  default     = null
}

variable "cert_manager_issuer" {
  description = "cert-manager issuer for the server certificate when tls_secret_name is null (tls.certManager)."
  type = object({
    name      = string
    kind      = optional(string, "ClusterIssuer")
    dns_names = optional(list(string), [])
  })
  default = null
}

variable "database_cidrs" {
  description = "Where PostgreSQL is, as CIDRs (networkPolicy.egress.database.cidrs)."
  type        = list(string)
  default     = []
}

variable "database_namespace" {
  description = "Or: the namespace PostgreSQL runs in (networkPolicy.egress.database.namespaceSelector)."
  type        = string
  default     = null
}

variable "database_pod_labels" {
  description = "With database_namespace: labels of the PostgreSQL pods."
  type        = map(string)
  default     = {}
}

variable "ingress_namespaces" {
  description = "Namespaces whose pods may call the API (networkPolicy.ingress.namespaceSelectors), e.g. the ingress controller's and Prometheus's."
  type        = list(string)
  default     = []
}

variable "integration_egress" {
  description = "Endpoints probectl calls (SIEM, on-call/ITSM, secret backends): CIDRs or a namespace, ports (networkPolicy.egress.integrations)."
  type = list(object({
    name           = string
    cidrs          = optional(list(string), [])
    namespace      = optional(string)
    ports          = optional(list(number), [443])
    secret_backend = optional(bool, false)
  }))
  default = []
  validation {
    condition     = alltrue([for i in var.integration_egress : length(i.cidrs) > 0 || i.namespace != null])
    error_message = "Each integration_egress entry needs cidrs or a namespace."
  }
}

variable "config" {
  description = "Non-secret PROBECTL_* settings (chart value config; docs/configuration.md). No credential variable: those go through secret_env."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.config) : can(regex("^PROBECTL_[A-Z0-9_]+$", k))])
    error_message = "config keys are PROBECTL_* variable names."
  }
  # The variables docs/configuration.md marks 🔒 (test/deploy/secret-variables.deploy.ts keeps this list equal to it).
  validation {
    condition = alltrue([for k in keys(var.config) : !startswith(k, "PROBECTL_DEVICE_CRED_") && !contains([
      "PROBECTL_DATABASE_URL",
      "PROBECTL_DATABASE_PASSWORD",
      "PROBECTL_ENCRYPTION_KEY",
      "PROBECTL_ENCRYPTION_KEY_PREVIOUS",
      "PROBECTL_SECRETS_VAULT_TOKEN",
      "PROBECTL_SECRETS_VAULT_ROLE_ID",
      "PROBECTL_SECRETS_VAULT_SECRET_ID",
      "PROBECTL_SECRETS_CONJUR_API_KEY",
      "PROBECTL_TLS_CERT",
      "PROBECTL_TLS_KEY",
      "PROBECTL_SIEM_TOKEN",
      "PROBECTL_SIEM_WEBHOOK_SECRET",
      "PROBECTL_NOTIFY_CONNECTORS",
      "PROBECTL_NOTIFY_INBOUND",
      "PROBECTL_METRICS_UPSTREAM_TOKEN",
      "PROBECTL_CMDB_SECRET",
    ], k)])
    error_message = "config holds a credential variable (🔒 in docs/configuration.md): its value would be kept in the Terraform state; give it through secret_env (a Secret) instead."
  }
}

variable "secret_env" {
  description = "Credential variables read from Secrets (chart value secretEnv)."
  type = list(object({
    name        = string
    secret_name = string
    key         = string
  }))
  default = []
}

variable "service_monitor" {
  description = "A Prometheus Operator ServiceMonitor: the Secret with a metrics-read token and the CA Secret (serviceMonitor)."
  type = object({
    token_secret_name = optional(string, "")
    token_secret_key  = optional(string, "token")
    ca_secret_name    = optional(string, "")
  })
  default = null
}

variable "ingress" {
  description = "An Ingress (ingress): host, class, passthrough or reencrypt; for reencrypt the controller's TLS Secret, the Secret with ca.crt that verifies probectl (backendCaSecret) and optionally the name probectl's certificate presents (backendHostname)."
  type = object({
    host              = string
    class_name        = optional(string, "")
    mode              = optional(string, "passthrough")
    tls_secret_name   = optional(string, "")
    backend_ca_secret = optional(string, "")
    backend_hostname  = optional(string, "")
  })
  default = null
}

variable "grafana_datasource" {
  description = "Render the Grafana data-source provisioning ConfigMap (grafanaDatasource.enabled)."
  type        = bool
  default     = false
}
