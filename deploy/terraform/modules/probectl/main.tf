locals {
  chart_path = var.chart_repository == null ? coalesce(var.chart_path, "${path.module}/../../../helm/probectl") : null
  # The size overlays live beside the chart in this repository; the same file is used for a repository chart.
  size_values = file("${path.module}/../../../helm/probectl/values-${var.size}.yaml")
  # The chart's fullname: the release name when it contains "probectl", else <release>-probectl.
  fullname = length(regexall("probectl", var.release_name)) > 0 ? var.release_name : "${var.release_name}-probectl"
}

module "values" {
  source = "./values"

  image_repository            = var.image_repository
  image_tag                   = var.image_tag
  image_digest                = var.image_digest
  database_secret_name        = var.database_secret_name
  database_url_key            = var.database_url_key
  database_password_key       = var.database_password_key
  database_ca_config_map      = var.database_ca_config_map
  encryption_secret_name      = var.encryption_secret_name
  encryption_key_key          = var.encryption_key_key
  encryption_previous_key_key = var.encryption_previous_key_key
  tls_secret_name             = var.tls_secret_name
  cert_manager_issuer         = var.cert_manager_issuer
  database_cidrs              = var.database_cidrs
  database_namespace          = var.database_namespace
  database_pod_labels         = var.database_pod_labels
  ingress_namespaces          = var.ingress_namespaces
  integration_egress          = var.integration_egress
  config                      = var.config
  secret_env                  = var.secret_env
  service_monitor             = var.service_monitor
  ingress                     = var.ingress
  grafana_datasource          = var.grafana_datasource
}

resource "helm_release" "probectl" {
  name             = var.release_name
  namespace        = var.namespace
  create_namespace = var.create_namespace
  chart            = var.chart_repository == null ? local.chart_path : "probectl"
  repository       = var.chart_repository
  version          = var.chart_version

  values = [
    local.size_values,
    yamlencode(module.values.values),
    yamlencode(var.extra_values),
  ]

  # Roll back on failure; wait for the migration hook and the rollout.
  atomic          = true
  cleanup_on_fail = true
  wait            = true
  timeout         = var.timeout_seconds
}
