# Take a template that is already written (by another configuration of this deployment, or
# before its state was lost) into this one: the id is the template's name.
import {
  to = ochami_boot_template.compute
  id = "compute"
}
