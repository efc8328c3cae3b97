output "values" {
  description = "The chart values (deploy/helm/probectl/values.schema.json), without sizing: the size overlay supplies that."
  value       = local.values
}
