output "service_name" {
  description = "The probectl Service (HTTPS, port 443)."
  value       = local.fullname
}

output "url" {
  description = "The in-cluster HTTPS URL of the API."
  value       = "https://${local.fullname}.${var.namespace}.svc:443"
}

output "release_status" {
  description = "Status of the Helm release."
  value       = helm_release.probectl.status
}
