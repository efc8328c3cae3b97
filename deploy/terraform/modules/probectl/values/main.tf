# Builds the probectl chart's values from the module's variables. No providers: a test evaluates it
# offline and checks the result against the chart's values.schema.json and `helm template`.

locals {
  image = { for k, v in {
    repository = var.image_repository
    tag        = var.image_tag
    digest     = var.image_digest
  } : k => v if v != null }

  tls = jsondecode(var.tls_secret_name != null ? jsonencode({
    existingSecret = var.tls_secret_name
    }) : jsonencode({
    certManager = {
      enabled   = true
      issuerRef = { name = var.cert_manager_issuer.name, kind = var.cert_manager_issuer.kind }
      dnsNames  = var.cert_manager_issuer.dns_names
    }
  }))

  database_egress = jsondecode(var.database_namespace != null ? jsonencode({
    namespaceSelector = { matchLabels = { "kubernetes.io/metadata.name" = var.database_namespace } }
    podSelector       = { matchLabels = var.database_pod_labels }
    }) : jsonencode({
    cidrs = var.database_cidrs
  }))

  integrations = [for i in var.integration_egress : jsondecode(i.namespace != null ? jsonencode({
    name              = i.name
    namespaceSelector = { matchLabels = { "kubernetes.io/metadata.name" = i.namespace } }
    ports             = i.ports
    secretBackend     = i.secret_backend
    }) : jsonencode({
    name          = i.name
    cidrs         = i.cidrs
    ports         = i.ports
    secretBackend = i.secret_backend
  }))]

  service_monitor = jsondecode(var.service_monitor == null ? jsonencode({ enabled = false }) : jsonencode({
    enabled     = true
    tokenSecret = { name = var.service_monitor.token_secret_name, key = var.service_monitor.token_secret_key }
    caSecret    = { name = var.service_monitor.ca_secret_name, key = "ca.crt" }
  }))

  ingress = jsondecode(var.ingress == null ? jsonencode({ enabled = false }) : jsonencode({
    enabled         = true
    host            = var.ingress.host
    className       = var.ingress.class_name
    mode            = var.ingress.mode
    tlsSecretName   = var.ingress.tls_secret_name
    backendCaSecret = var.ingress.backend_ca_secret
    backendHostname = var.ingress.backend_hostname
  }))

  values = {
    image = local.image
    database = {
      existingSecret = var.database_secret_name
      urlKey         = var.database_url_key
      passwordKey    = var.database_password_key
      ca             = { configMapName = var.database_ca_config_map, secretName = "", key = "ca.crt" }
    }
    encryption = {
      existingSecret    = var.encryption_secret_name
      secretKey         = var.encryption_key_key
      previousSecretKey = var.encryption_previous_key_key
    }
    tls       = local.tls
    config    = var.config
    secretEnv = [for e in var.secret_env : { name = e.name, secretName = e.secret_name, key = e.key }]
    networkPolicy = {
      ingress = {
        namespaceSelectors = [for n in var.ingress_namespaces : { matchLabels = { "kubernetes.io/metadata.name" = n } }]
      }
      egress = {
        database     = local.database_egress
        integrations = local.integrations
      }
    }
    serviceMonitor    = local.service_monitor
    ingress           = local.ingress
    grafanaDatasource = { enabled = var.grafana_datasource }
  }
}
