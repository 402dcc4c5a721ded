# Stride English texts. Every key must also exist in zh-CN.ftl.
app.name = Stride Sales
app.tagline = One system for the whole sales process, from lead to payment.

nav.home = Home
nav.users = Users
nav.departments = Departments
nav.roles = Roles & permissions
nav.settings = Organisation
nav.calendar = Business calendar
nav.audit = Audit log
nav.profile = My profile
nav.logout = Sign out

login.title = Sign in
login.username = User name
login.password = Password
login.submit = Sign in
login.failed = Wrong user name or password.
login.throttled = Too many attempts; please wait and try again.

home.title = Home
home.welcome = Hello, { $name }
home.users_hint = Manage users, their department, manager and roles.
home.departments_hint = The company → region → team structure.
home.audit_hint = Who did what and when, before and after.
home.profile_hint = Change your password, language and time zone; manage API tokens.

error.title = Something went wrong
error.not_found = Not found, or not yours to see.
error.forbidden = You are not permitted to do this.
error.stale = Someone else changed this record; reload and try again.
error.conflict = This conflicts with existing data.
error.internal = Internal error; please try again later.
error.csrf = The form has expired; reload the page and try again.

notice.saved = Saved.
notice.created = Created.
notice.deleted = Deleted.
notice.password_changed = Password changed; your other sessions were signed out.
notice.token_revoked = Token revoked.

field_error.required = Required.
field_error.invalid = Not valid.
field_error.taken = Already in use.
field_error.not_found = The chosen record does not exist.
field_error.too_short = A password has 8 to 128 characters.
field_error.invalid_credentials = Wrong user name or password.
field_error.cycle = A department cannot move below itself.
field_error.self = You cannot choose yourself.
field_error.locked = The administrator role keeps user and role management over all data.
