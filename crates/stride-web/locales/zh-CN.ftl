# Stride 简体中文界面文本。每个键也必须出现在 en.ftl 中。
app.name = Stride 销售管理
app.tagline = 从线索到回款,一个系统管好整个销售流程。

nav.home = 首页
nav.users = 用户
nav.departments = 部门
nav.roles = 角色与权限
nav.settings = 组织设置
nav.calendar = 工作日历
nav.audit = 审计日志
nav.profile = 个人设置
nav.logout = 退出登录

login.title = 登录
login.username = 用户名
login.password = 密码
login.submit = 登录
login.failed = 用户名或密码错误。
login.throttled = 登录尝试次数过多,请稍后再试。

home.title = 首页
home.welcome = 你好,{ $name }
home.users_hint = 管理用户、所属部门、上级和角色。
home.departments_hint = 公司 → 大区 → 团队的组织架构。
home.audit_hint = 谁在何时做了什么:变更前后一目了然。
home.profile_hint = 修改密码、语言和时区,管理 API 令牌。

error.title = 出错了
error.not_found = 没有找到该记录,或你无权查看。
error.forbidden = 你没有执行此操作的权限。
error.stale = 该记录已被他人修改,请刷新后重试。
error.conflict = 该操作与现有数据冲突。
error.internal = 服务器内部错误,请稍后重试。
error.csrf = 表单已过期,请刷新页面后重试。

notice.saved = 已保存。
notice.created = 已创建。
notice.deleted = 已删除。
notice.password_changed = 密码已修改,其他设备上的登录已退出。
notice.token_revoked = 令牌已吊销。

field_error.required = 此项必填。
field_error.invalid = 格式不正确。
field_error.taken = 已被占用。
field_error.not_found = 所选记录不存在。
field_error.too_short = 密码长度需为 8 到 128 个字符。
field_error.invalid_credentials = 用户名或密码错误。
field_error.cycle = 部门不能移动到自己的下级。
field_error.self = 不能选择自己。
field_error.locked = 管理员角色必须保留对全部数据的用户与角色管理权限。
