variable "kubeconfig" {
  description = "Path of the kubeconfig the helm provider uses."
  type        = string
  default     = "~/.kube/config"
}
