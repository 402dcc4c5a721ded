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

# Administration and profile pages.
list.empty = Nothing here yet.
list.next = Next page →
filter.any = Any
filter.apply = Filter
form.save = Save
form.create = Create
form.delete = Delete
form.confirm_delete = Delete this for good?
form.yes = Yes
form.no = No
field_error.out_of_range = Out of range.

locale.auto = Automatic (browser)
locale.zh_cn = 简体中文
locale.en = English

users.title = Users
users.new = New user
users.back = ← All users
users.search = Name contains
user.username = User name
user.display_name = Display name
user.email = E-mail
user.department = Department
user.manager = Manager
user.no_manager = No manager
user.roles = Roles
user.status = Status
user.active = Active
user.inactive = Disabled
user.locale = Language
user.time_zone = Time zone
user.password = Initial password

departments.title = Departments
departments.new = Add a department
departments.back = ← All departments
department.name = Name
department.parent = Parent department
department.no_parent = None (top of the organisation)

roles.title = Roles & permissions
roles.new = New role
roles.back = ← All roles
role.code = Code
role.name = Name
role.name_zh = Chinese name
role.name_en = English name
role.scope = Data scope
role.builtin = Built-in
role.permissions = Permissions
role.record_kind = Records

scope.self = Own records
scope.department = Own department
scope.department_tree = Department and below
scope.all = All data

kind.user = Users
kind.department = Departments
kind.role = Roles
kind.settings = Organisation settings
kind.calendar = Business calendar
kind.audit = Audit log
kind.lead = Leads
kind.customer = Customers
kind.contact = Contacts
kind.activity = Activities
kind.opportunity = Opportunities
kind.contract = Contracts

action.view = View
action.create = Create
action.edit = Edit
action.delete = Delete
action.export = Export
action.approve = Approve

settings.title = Organisation settings
settings.name = Organisation name
settings.time_zone = Time zone
settings.currency = Currency

calendar.title = Business calendar
calendar.year = Year
calendar.date = Date
calendar.kind = Kind
calendar.name = Name
calendar.add = Add or replace a day
calendar.calculator = Working days calculator
calendar.from_date = Start date (09:00)
calendar.days = Working days
calendar.compute = Compute
calendar.result = Due: { $date }
day_kind.holiday = Public holiday
day_kind.workday = Make-up working day

audit.title = Audit log
audit.time = Time
audit.actor = User
audit.action = Action
audit.record_kind = Record type
audit.record_id = Record ID
audit.from = From
audit.to = To
audit.change = Before → after
audit.export_csv = Export CSV
audit_action.create = Created
audit_action.update = Updated
audit_action.delete = Deleted
audit_action.export = Exported
audit_action.login = Signed in
audit_action.change_password = Changed password
audit_action.create_token = Created API token
audit_action.revoke_token = Revoked API token

profile.title = My profile
profile.preferences = Language, time zone and name
profile.password = Password
profile.current_password = Current password
profile.new_password = New password
profile.change_password = Change password
profile.tokens = API tokens
profile.token_once = Copy this token now; it will not be shown again.
token.name = Name
token.prefix = Starts with
token.read_only = Read-only
token.created = Created
token.revoked = Revoked
token.revoke = Revoke
token.create = Create token
