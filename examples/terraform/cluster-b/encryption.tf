# State and plan encryption (OpenTofu 1.7 and later). Without it, every value of the state is
# stored in the clear wherever the backend keeps it, `sensitive` ones included: the cloud-init
# user-data, the template's `spec`, `changes` and `history`. With it, the state is AES-GCM
# ciphertext at rest, on local disk as on a shared pg or s3 backend, and `enforced` refuses to
# write an unencrypted one. Terraform has no state encryption: delete this file there (see
# README, "Working as a team").
variable "state_passphrase" {
  description = "Passphrase the state and plans are encrypted with (16 characters or more); the team shares it with the backend's credentials, and a lost one loses the state"
  type        = string
  sensitive   = true
}

terraform {
  encryption {
    key_provider "pbkdf2" "team" {
      passphrase = var.state_passphrase
    }
    method "aes_gcm" "team" {
      keys = key_provider.pbkdf2.team
    }
    state {
      method   = method.aes_gcm.team
      enforced = true
    }
    plan {
      method   = method.aes_gcm.team
      enforced = true
    }
    # terraform_remote_state reads cluster-a's state, encrypted with the same key.
    remote_state_data_sources {
      default {
        method = method.aes_gcm.team
      }
    }
  }
}
