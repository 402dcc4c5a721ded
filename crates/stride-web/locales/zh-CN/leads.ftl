# 线索:统一社会信用代码,以及导入时放行的疑似重复行。
lead.credit_code = 统一社会信用代码
import.duplicates = 疑似重复但已导入
import.duplicates_hint = 共 { $count } 处与已有客户、未关闭线索或文件中前面的行相同,请在线索页面核对。
import.matched = 相同字段
import.duplicate_of = 疑似重复于
import.duplicate_customer = 客户 #{ $id }
import.duplicate_lead = 线索 #{ $id }
import.duplicate_row = 本文件第 { $row } 行
