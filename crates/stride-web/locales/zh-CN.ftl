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

# 管理页面与个人设置。
list.empty = 暂无数据。
list.next = 下一页 →
filter.any = 全部
filter.apply = 筛选
form.save = 保存
form.create = 创建
form.delete = 删除
form.confirm_delete = 确定要删除吗?此操作无法撤销。
form.yes = 是
form.no = 否
field_error.out_of_range = 超出允许范围。

locale.auto = 自动(跟随浏览器)
locale.zh_cn = 简体中文
locale.en = English

users.title = 用户
users.new = 新建用户
users.back = ← 全部用户
users.search = 姓名或用户名包含
user.username = 用户名
user.display_name = 显示名称
user.email = 电子邮箱
user.department = 部门
user.manager = 上级
user.no_manager = 无上级
user.roles = 角色
user.status = 状态
user.active = 启用
user.inactive = 已停用
user.locale = 语言
user.time_zone = 时区
user.password = 初始密码

departments.title = 部门
departments.new = 添加部门
departments.back = ← 全部部门
department.name = 名称
department.parent = 上级部门
department.no_parent = 无(组织最顶层)

roles.title = 角色与权限
roles.new = 新建角色
roles.back = ← 全部角色
role.code = 编码
role.name = 名称
role.name_zh = 中文名称
role.name_en = 英文名称
role.scope = 数据范围
role.builtin = 内置
role.permissions = 权限
role.record_kind = 数据类型

scope.self = 本人
scope.department = 本部门
scope.department_tree = 本部门及下级
scope.all = 全部数据

kind.user = 用户
kind.department = 部门
kind.role = 角色
kind.settings = 组织设置
kind.calendar = 工作日历
kind.audit = 审计日志
kind.lead = 线索
kind.customer = 客户
kind.contact = 联系人
kind.activity = 跟进记录
kind.opportunity = 商机
kind.contract = 合同

action.view = 查看
action.create = 新建
action.edit = 编辑
action.delete = 删除
action.export = 导出
action.approve = 审批

settings.title = 组织设置
settings.name = 组织名称
settings.time_zone = 时区
settings.currency = 币种

calendar.title = 工作日历
calendar.year = 年份
calendar.date = 日期
calendar.kind = 类型
calendar.name = 名称
calendar.add = 添加或替换日期
calendar.calculator = 工作日计算器
calendar.from_date = 起始日期(09:00)
calendar.days = 工作日数
calendar.compute = 计算
calendar.result = 截止时间:{ $date }
day_kind.holiday = 法定节假日
day_kind.workday = 调休上班

audit.title = 审计日志
audit.time = 时间
audit.actor = 操作人
audit.action = 操作
audit.record_kind = 数据类型
audit.record_id = 记录 ID
audit.from = 开始日期
audit.to = 结束日期
audit.change = 变更前 → 变更后
audit.export_csv = 导出 CSV
audit_action.create = 新建
audit_action.update = 修改
audit_action.delete = 删除
audit_action.export = 导出
audit_action.login = 登录
audit_action.change_password = 修改密码
audit_action.create_token = 创建 API 令牌
audit_action.revoke_token = 吊销 API 令牌

profile.title = 个人设置
profile.preferences = 语言、时区与名称
profile.password = 密码
profile.current_password = 当前密码
profile.new_password = 新密码
profile.change_password = 修改密码
profile.tokens = API 令牌
profile.token_once = 请立即复制此令牌,它不会再次显示。
token.name = 名称
token.prefix = 开头字符
token.read_only = 只读
token.created = 创建时间
token.revoked = 吊销时间
token.revoke = 吊销
token.create = 创建令牌
