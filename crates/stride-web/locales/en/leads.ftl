# Leads: the unified social credit code and the duplicates an import let through.
lead.credit_code = Unified social credit code
import.duplicates = Imported although they look like duplicates
import.duplicates_hint = { $count } matches with stored customers, open leads or earlier rows of the file. Check them on the leads' pages.
import.matched = Matched on
import.duplicate_of = Looks like
import.duplicate_customer = customer #{ $id }
import.duplicate_lead = lead #{ $id }
import.duplicate_row = row { $row } of this file
