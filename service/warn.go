package service

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Warning kinds of the ask contract.
const (
	ScamVictim    = "scam_victim"    // the customer appears to be in a scam right now
	ComplaintRisk = "complaint_risk" // likely to complain or escalate to a regulator or the media
	Vulnerable    = "vulnerable"     // elderly, distressed, in debt trouble
)

// WarnThreshold is the score from which a warning is raised.
const WarnThreshold = 0.5

// Warning is one risk spotted in an utterance.
type Warning struct {
	Kind  string  `json:"kind"`
	Score float64 `json:"score"`
	// Detail says in Simplified Chinese what was seen, for the agent.
	Detail string `json:"detail"`
	// Type narrows the kind: the scam typology (Guard's names, e.g.
	// impersonated_police), the escalation channel (regulator, media,
	// police_legal, complaint) or the vulnerability (elderly, self_harm,
	// distress, debt).
	Type string `json:"type,omitempty"`
	// Signals are the cues that fired, by stable name.
	Signals []string `json:"signals,omitempty"`
}

// WarnContext is what is known of the customer beyond the utterance.
type WarnContext struct {
	// Contacts is how many service sessions the customer opened in the
	// last 7 days before this one: repeated contacts raise complaint risk.
	Contacts int
	// Age is the customer's age when known (0 = unknown).
	Age int
}

// cue is one entry of the lexicon: it fires when every group has at least
// one of its terms in the text and none of the none terms is there.
type cue struct {
	kind   string
	typ    string // "" = a generic scam cue, counted with every typology
	name   string // stable signal name
	zh     string // what it means, for the detail
	weight float64
	all    [][]string
	none   []string
	// amplifier cues (a third party giving instructions, secrecy) count
	// only when another cue of the same kind fired: alone they are
	// everyday words.
	amplifier bool
}

// Term groups reused by several cues.
var (
	thirdParty = split("对方|他让我|他叫我|他们让我|她让我|让我|叫我|要我|要求我|自称|冒充|陌生电话|陌生人|打电话给我|给我打电话|打来电话|来电|电话里|加我|加了我|拉我进|拉进群|进群|qq上|微信上|有人|网友|客服说|客服打|客服让|一个客服|说我|请您配合|需要您配合|按照我的指导|按照我的指引|按我说的|按照指引|配合我们|请您按照|您需要")
	calledMe   = split("打电话|来电|电话里|电话说|客服说|客服打|客服让|他说|对方说|有人说|自称|说我|要求|让我|要我|叫我|加我|加了我|微信上|qq上|视频")
	payFirst   = split("先交|先付|先转|交了|转了|付了|要交|要我交|让我交|让我转|让我付|才能放款|才能下款|才能到账|才给放款|才可以放款|才能提现|打款")
	moneyWords = split("收费|交钱|付钱|费用|转账|定金|先付|服务费|手续费|中介|公司|机构|有人|对方|他们|代理")
)

func split(s string) []string { return strings.Split(s, "|") }

func c(kind, typ, name, zh string, w float64, groups ...string) cue {
	cu := cue{kind: kind, typ: typ, name: name, zh: zh, weight: w}
	for _, g := range groups {
		cu.all = append(cu.all, split(g))
	}
	return cu
}

func (cu cue) with(groups ...[]string) cue {
	cu.all = append(slices.Clone(cu.all), groups...)
	return cu
}

func (cu cue) not(terms string) cue { cu.none = append(cu.none, split(terms)...); return cu }

func (cu cue) amp() cue { cu.amplifier = true; return cu }

// lexicon is xiaobao's own: written by hand from public anti-fraud
// guidance (the typologies of the national anti-fraud centre's warnings)
// and customer-service practice, never derived from a research data set.
// Each scam cue wants the words of a scam in progress (an instruction from
// a third party, a fee before a loan, a "safe account"), not the words an
// ordinary question shares with it: 注销账户, 安全中心 and 征信查询 alone
// fire nothing.
var lexicon = []cue{
	// Generic scam signals.
	c(ScamVictim, "", "safe_account", "安全账户/资金清查", 0.75, "安全账户|安全帐户|国家账户|监管账户|清查账户|资金清查|资金核查|核查账户|验资账户|保证金账户"),
	c(ScamVictim, "", "remote_control", "屏幕共享/远程控制", 0.45, "屏幕共享|共享屏幕|开共享|开启共享|远程控制|远程协助|远程操控|远程操作|向日葵|todesk|teamviewer|anydesk|腾讯会议|会议软件|会议app|zoom|网易会议|小鱼易连|云视讯"),
	c(ScamVictim, "", "remote_install", "被要求下载软件", 0.3, "下载|安装|装了|打开", "屏幕共享|共享屏幕|远程|会议|向日葵|todesk|app|软件|链接").with(thirdParty).
		not("你们的app|你们app|官方app|应用商店|更新app|升级app|app更新|app升级|下载你们|安装你们"),
	c(ScamVictim, "", "code_handover", "验证码交给他人", 0.55, "验证码|校验码|动态码|短信码|验证短信", "给对方|告诉对方|发给|报给|念给|告诉他|给他|给了他|提供给|要我的验证码|要验证码|问我要|让我说|让我提供|让我报|让我告诉|让我念|让我发").
		not("请勿|切勿|勿告诉|不要告诉|勿泄露|不要泄露|不得|严禁|收不到|没收到|接收不到|没有收到|发不出|获取不了|不来|过期|失效|验证码是|验证码为"),
	c(ScamVictim, "", "code_mention", "提到验证码", 0.15, "验证码|校验码|动态码").amp(),
	c(ScamVictim, "", "self_report", "自述被骗", 0.45, "被骗|上当|受骗|骗了我|骗走|被诈骗|遇到诈骗|遇到骗子|骗了").
		not("防诈|反诈|识别诈骗|预防诈骗|防止被骗|防骗|怎么防|骗子公司|你们是骗子|你们就是骗子|你们骗|你们这是骗|别被骗|以免被骗|怕被骗|担心被骗"),
	c(ScamVictim, "", "self_doubt", "怀疑遇到诈骗", 0.5, "是不是被骗|是不是骗子|会不会是诈骗|是不是诈骗|是诈骗吗|是骗子吗|是不是骗局|会不会被骗|是真的吗").with(thirdParty),
	c(ScamVictim, "", "secrecy", "被要求保密/不许挂电话", 0.3, "不要告诉家人|不能告诉家人|别告诉家人|不许告诉|不能告诉任何人|别告诉别人|不要告诉别人|要保密|不要挂电话|不准挂|不让我挂|不能挂电话|一直通话").amp(),
	c(ScamVictim, "", "transfer_instruction", "被要求转账", 0.3, "让我转账|叫我转账|要我转账|让我把钱|叫我把钱|转到指定|转账到|指定账户|转到他|转给他们|转到对方|打到他|转入指定|汇款到|让我汇款|让我打款|让我充值|叫我充值|把钱转到"),
	c(ScamVictim, "", "instructed", "有第三方指挥操作", 0.2).with(thirdParty).amp(),
	c(ScamVictim, "", "loan_to_pay", "被要求借款后转出", 0.35, "借款|贷款|借钱|网贷|套现|额度", "转给|转到|转出|汇给|打给|充值到").with(thirdParty).not("还款|还贷"),

	// Impersonated customer service: student loans, insurance, rates.
	c(ScamVictim, "impersonated_customer_service", "campus_loan", "注销校园贷/学生账户", 0.7, "注销|关闭|取消|清除|消除", "校园贷|学生贷|学生账户|学生身份|大学生贷|学生时期"),
	c(ScamVictim, "impersonated_customer_service", "campus_loan_word", "提到校园贷", 0.45, "校园贷|学生贷"),
	c(ScamVictim, "impersonated_customer_service", "cancel_or_credit_hit", "不注销/关闭就影响征信", 0.65, "注销|关闭|取消|解除", "影响征信|影响你的征信|影响我的征信|影响个人征信|征信受影响|征信会受|上征信|征信有影响|征信有问题|征信会有问题|征信会变差|征信变差|征信会黑|征信黑").with(calledMe),
	c(ScamVictim, "impersonated_customer_service", "cancel_credit_hit_q", "注销与征信", 0.2, "注销|关闭|取消|解除", "影响征信|征信受影响|上征信|征信有影响").amp(),
	c(ScamVictim, "impersonated_customer_service", "million_cover", "百万保障/会员扣费", 0.4, "百万保障|百万保险|百万医疗|会员到期要扣费|会员自动扣费"),
	c(ScamVictim, "impersonated_customer_service", "charge_call", "来电称将扣费", 0.35, "开通了|要扣费|每月扣|每个月扣|自动扣|扣年费|扣会员费|扣费|续费", "打电话|来电|客服说|对方说|自称|电话说|他说"),
	c(ScamVictim, "impersonated_customer_service", "rate_call", "来电称利率违规要调整", 0.45, "调低利率|降低利率|利率过高|利息过高|利率太高|利率违规|利率不合规|利率超标|调整利率|降息", "打电话|来电|客服说|自称|对方说|银保监|银联|监管要求"),
	c(ScamVictim, "impersonated_customer_service", "fake_staff", "自称客服/平台工作人员", 0.4, "自称|冒充|假冒|说他是|说是", "客服|工作人员|平台|京东|支付宝|淘宝|银行|微信|快递|抖音|银联|银保监"),

	// Refund and compensation.
	c(ScamVictim, "refund_scam", "refund_bait", "退款/理赔诱导操作", 0.55, "退款|理赔|赔偿|赔付|退货|退费", "验证码|转账|借款|贷款|备用金|扫码|二维码|先交|开通|共享|下载|额度").with(calledMe).
		not("退款多久|退款什么时候|退款到账|退款进度|怎么申请退款"),
	c(ScamVictim, "refund_scam", "lost_parcel", "快递丢失/质量问题要赔偿", 0.5, "快递丢|快递丢失|包裹丢|快递弄丢|商品有质量问题|质量问题|衣服有问题|产品有问题", "理赔|赔偿|赔付|双倍|退款", "打电话|客服|对方|联系我|加我|自称"),
	c(ScamVictim, "refund_scam", "reserve_fund", "备用金/理赔金", 0.35, "备用金|理赔金|赔付金|退款金"),

	// Impersonated police, prosecutors, courts.
	c(ScamVictim, "impersonated_police", "police_call", "冒充公检法来电", 0.65, "警察|警官|公安|刑警|派出所|检察院|检察官|法院|法官|公检法|经侦|网警", "洗钱|涉嫌|通缉|逮捕|拘留|配合调查|资金核查|清查|冻结|涉案|案件|传唤|保密|逮捕令|拘捕令|犯罪", "打电话|来电|电话里|视频|说我|自称|加我|qq|微信|让我|要我"),
	c(ScamVictim, "impersonated_police", "police_words", "涉案/洗钱说辞", 0.35, "洗钱|通缉令|逮捕令|拘捕令|涉案资金|涉嫌犯罪|资产冻结|资金冻结|配合调查"),
	c(ScamVictim, "impersonated_police", "police_opener", "医保卡/快递违禁品等开场白", 0.45, "医保卡|社保卡|快递|包裹|护照|银行卡", "异常|违规|违禁品|毒品|盗刷|涉嫌|冻结|洗钱").with(calledMe).not("我的快递异常|物流异常"),

	// Fake loans.
	c(ScamVictim, "fake_loan", "loan_fee_word", "解冻费/刷流水等放款前收费", 0.55, "解冻费|激活费|工本费|验资|刷流水|刷银行流水|包装费|放款费|解冻金|流水不足|保险费才能|认证费", "贷款|借款|放款|下款|额度|到账|提现"),
	c(ScamVictim, "fake_loan", "loan_fee", "放款前先交钱", 0.55, "保证金|手续费|会员费|押金|利息|服务费|费用|钱", "贷款|借款|放款|下款").with(payFirst).not("提前还款|还款手续费|退保证金"),
	c(ScamVictim, "fake_loan", "wrong_card", "卡号填错/账户冻结不能放款", 0.5, "银行卡号填错|卡号填错|卡号错误|账户被冻结|资金冻结|账号异常|账户异常", "贷款|放款|借款|下款"),
	c(ScamVictim, "fake_loan", "easy_loan", "无视征信/秒下款", 0.45, "无抵押|无视黑白户|黑户也能|秒下款|不看征信|包下款|内部渠道|走后门|百分百下款|免抵押|无需抵押|秒批|当天放款|内部名额|无需征信|征信不好也能|低息贷款"),
	c(ScamVictim, "fake_loan", "loan_pitch_fee", "贷款推销要求先交费/转账", 0.35, "贷款|借款|放款|下款|额度", "保证金|手续费|会员费|押金|验资|解冻|流水").with(thirdParty).not("提前还款|还款手续费"),

	// Impersonated leaders, relatives and friends (冒充领导/熟人).
	c(ScamVictim, "impersonated_acquaintance", "new_number_money", "熟人换号后借钱/转账", 0.55, "领导|老板|经理|老总|老同学|老朋友|亲戚|表哥|表姐|儿子|女儿|孙子|外甥|侄子|同事", "换号|新号码|新号|新微信|换了微信|加我|不方便接电话|在开会|手机坏了|手机丢了|qq", "转账|借钱|借点钱|打钱|汇款|周转|垫付|转给"),
	c(ScamVictim, "impersonated_acquaintance", "boss_transfer", "“领导”让先转账", 0.45, "领导|老板|老总|经理", "转账|打款|汇款|转给|先垫").with(split("让我|叫我|要我|他说|你先|帮我|帮他|明天|办公室|急用")),

	// Credit repair and complaint agents.
	c(ScamVictim, "credit_repair", "credit_repair", "征信修复/消除逾期", 0.45, "征信修复|修复征信|征信洗白|洗白征信|征信铲单|铲单|消除逾期|消除不良|删除逾期|删除不良|逾期记录删除|消除征信|修复信用|征信优化|征信清洗|清除逾期|洗征信"),
	c(ScamVictim, "credit_repair", "credit_repair_paid", "付费修复征信", 0.35, "征信|逾期|不良记录", "修复|洗白|消除|删除|铲单|清除").with(moneyWords).not("征信查询|查询征信"),
	c(ScamVictim, "complaint_agent_fraud", "debt_agent", "代理维权/反催收中介", 0.5, "代理维权|代理投诉|代理退息|反催收|债务优化|债务重组|全额退息|退回利息|帮你退息|帮我退息|协商退息", "中介|公司|机构|收费|服务费|他们|代理|有人|对方|加我|律所|团队|费用|定金"),

	// Brushing and part-time tasks.
	c(ScamVictim, "brushing_part_time", "brushing", "刷单", 0.55, "刷单|刷信誉|刷好评|刷销量|做单|刷流量"),
	c(ScamVictim, "brushing_part_time", "task_prepay", "做任务/兼职要垫付", 0.55, "做任务|点赞任务|关注任务|兼职|任务单|抢单|派单|打字员|手工活", "垫付|充值|返利|佣金|返现|本金|提现不了|无法提现|卡单|连单"),
	c(ScamVictim, "brushing_part_time", "rebate", "返佣返利", 0.45, "返佣|返利|佣金", "充值|转账|垫付|本金|任务"),
	c(ScamVictim, "brushing_part_time", "stuck_task", "卡单/连单无法提现", 0.6, "卡单|连单|任务未完成|操作失误|数据异常|账户冻结", "任务|返利|佣金|刷单|提现|本金"),

	// Fake investment and romance.
	c(ScamVictim, "fake_investment", "mentor", "导师带单/荐股群", 0.5, "导师|老师带|带单|荐股|喊单|群里老师|助理|内幕", "投资|炒股|股票|理财|数字货币|虚拟币|基金|期货|外汇|收益|盈利|币").not("理财经理"),
	c(ScamVictim, "fake_investment", "sure_profit", "稳赚高回报", 0.5, "稳赚|保本高收益|稳赚不赔|高回报|高收益|包赚|只赚不赔|翻倍|日赚|月入|零风险", "投资|理财|平台|项目|充值|入金").not("理财产品收益|你们的理财|你们理财"),
	c(ScamVictim, "fake_investment", "no_withdraw", "投资平台提现不了要交钱", 0.55, "提现不了|无法提现|不能提现|提不出|出不了金|出金|交税才能|交保证金才能|解冻|审核不通过", "平台|投资|理财|收益|盈利|导师|网站|币").not("你们|贵司|贵公司"),
	c(ScamVictim, "fake_investment", "romance", "网恋/交友后投资", 0.6, "网恋|网上认识|交友软件|婚恋|男朋友|女朋友|杀猪盘|相亲网站|网友", "投资|理财|平台|博彩|充值|赚钱|入金|彩票|转钱|借钱|带我"),
	c(ScamVictim, "fake_investment", "crypto", "虚拟币/外汇平台", 0.35, "usdt|虚拟币|数字货币|比特币|外汇平台|区块链|挖矿|泰达币|博彩|网赌|彩票平台"),

	// Complaint and escalation risk.
	c(ComplaintRisk, "regulator", "regulator", "提到监管部门", 0.7, "银保监|保监会|银监会|金融监管总局|监管总局|金管局|监管局|人民银行|人行|央行|#12378|#12363|#12315|金融监管|监管部门|消保局|消协|消费者协会|市场监管|工商局|信访|证监会|金融办").
		not("征信中心|征信报告|人行征信|央行征信|人民银行征信|查征信|征信查询|央行利率|基准利率|lpr|人民银行规定"),
	c(ComplaintRisk, "complaint", "complaint", "要投诉/举报", 0.6, "投诉|举报|申诉|维权|告你们|讨说法|讨个说法|给个说法|给我一个说法|要求赔偿").not("代理投诉|代理维权"),
	c(ComplaintRisk, "media", "media", "要曝光/找媒体", 0.65, "微博|抖音|小红书|网上|朋友圈|媒体|电视台|记者|新闻|网络|黑猫|聚投诉|头条|知乎", "曝光|发帖|发到|发布|揭露|说出去|找|联系|投诉|让大家|公开"),
	c(ComplaintRisk, "media", "expose", "曝光/315", 0.6, "曝光|#315|3·15|3.15|315晚会|黑猫投诉|聚投诉"),
	c(ComplaintRisk, "police_legal", "police_legal", "要报警/起诉", 0.55, "报警|报案|起诉|律师|打官司|告你们|去法院|仲裁|法律途径|走法律").not("让我报警|不要报警|不用报警|别报警"),
	c(ComplaintRisk, "anger", "anger", "情绪激烈", 0.3, "太过分|垃圾|骗子公司|你们是骗子|你们就是骗子|无良|坑人|欺诈|霸王条款|乱扣费|恶意|气死|忍无可忍|再不处理|什么破|强烈不满|严重不满|黑心|流氓|无耻|欺骗消费者|太离谱|不给说法"),
	c(ComplaintRisk, "anger", "harsh_collection", "暴力催收", 0.45, "暴力催收|爆通讯录|骚扰我家人|骚扰家人|打给我家人|打给我同事|威胁我|恐吓|辱骂|骂我"),
	c(ComplaintRisk, "repeat", "repeat_unresolved", "多次联系仍未解决", 0.55, "第二次|第三次|第四次|好几次|多次|几次了|又来|再次", "没解决|没处理|没人管|没有回复|没人回|没答复|不处理|没下文"),
	c(ComplaintRisk, "repeat", "repeat_text", "反复联系未解决", 0.35, "第二次|第三次|第四次|第n次|又打|打了好几次|多次联系|好几次|一直没人|没人处理|还没解决|还是没解决|说了多少遍|反复|每次都|几次了|还没处理|一直拖|拖了"),

	// Vulnerability: elderly.
	c(Vulnerable, "elderly", "elderly_self", "老年客户", 0.6, "老年人|我是老人|我年纪大|年纪大了|岁数大了|老头子|老太太|老人家|我这个老|退休老人"),
	c(Vulnerable, "elderly", "retired", "退休", 0.4, "退休|养老金|退休金|老伴"),
	c(Vulnerable, "elderly", "low_digital", "不会用手机/看不清", 0.35, "不会用手机|不会操作|不会弄|看不清|字太小|听不清|眼睛不好|耳朵不好|不懂手机|不会上网|孩子不在身边|孙子"),
	c(Vulnerable, "elderly", "elderly_relative", "老人家属代为联系", 0.3, "我妈|我爸|我母亲|我父亲|我奶奶|我爷爷|老母亲|老父亲|我外婆|我外公|家里老人"),

	// Vulnerability: distress and self-harm.
	c(Vulnerable, "self_harm", "self_harm", "有轻生念头", 0.95, "不想活|活不下去|活着没意思|想死|自杀|轻生|跳楼|割腕|结束生命|一了百了|寻死|死了算了|去死"),
	c(Vulnerable, "distress", "despair", "绝望/走投无路", 0.5, "绝望|走投无路|撑不下去|天塌了|没有活路|没活路|家破人亡"),
	c(Vulnerable, "distress", "distress", "情绪崩溃/求助", 0.35, "崩溃|没办法了|求求你|救救我|哭|急死了|睡不着|压力太大|快疯了|怎么办啊|完了完了"),

	// Vulnerability: debt trouble.
	c(Vulnerable, "debt", "cannot_repay", "还不上钱", 0.55, "还不上|还不起|还不了|没钱还|以贷养贷|借新还旧|拆东墙|撸口子|资不抵债|无力偿还|无力还款"),
	c(Vulnerable, "debt", "hardship", "失业/疾病等困难", 0.35, "失业|没工作|被裁|裁员|生病住院|住院|重病|癌症|破产|生意失败|收入断了|没有收入|工资发不出"),
	c(Vulnerable, "debt", "many_debts", "多头负债/催收", 0.35, "多个平台|好几个平台|欠了很多|负债|欠款太多|逾期好几个月|逾期很久|催收|催债"),
	c(Vulnerable, "debt", "relief_ask", "申请延期/减免", 0.3, "协商还款|延期还款|停息挂账|个性化分期|减免|分期还|缓一缓|宽限").not("提前还款"),
}

// ageCue reads "我今年68岁", "七十多岁", "80多了" and the like.
var ageWords = []struct {
	word string
	age  int
}{{"六十", 60}, {"七十", 70}, {"八十", 80}, {"九十", 90}, {"六旬", 60}, {"七旬", 70}, {"八旬", 80}}

// warnIndex is the lexicon compiled: every distinct term once, and each
// cue's groups as indexes into the term list, so a text is scanned for
// each term once whatever the number of cues using it.
type warnIndex struct {
	terms  []string
	digits []bool // term must not touch other digits (12378, 315)
	cues   []compiledCue
	// byFirst lists the terms by their first rune: a text is read once,
	// each position checking only the terms that can start there.
	byFirst map[rune][]int
}

type compiledCue struct {
	cue
	all  [][]int
	none []int
}

var index = compile(lexicon)

func compile(lex []cue) *warnIndex {
	ix := &warnIndex{}
	pos := map[string]int{}
	id := func(t string) int {
		if i, ok := pos[t]; ok {
			return i
		}
		digits := strings.HasPrefix(t, "#")
		pos[t] = len(ix.terms)
		ix.terms = append(ix.terms, strings.TrimPrefix(t, "#"))
		ix.digits = append(ix.digits, digits)
		return pos[t]
	}
	defer func() {
		ix.byFirst = map[rune][]int{}
		for i, t := range ix.terms {
			r, _ := utf8.DecodeRuneInString(t)
			ix.byFirst[r] = append(ix.byFirst[r], i)
		}
	}()
	for _, cu := range lex {
		cc := compiledCue{cue: cu}
		for _, g := range cu.all {
			ids := make([]int, len(g))
			for i, t := range g {
				ids[i] = id(t)
			}
			cc.all = append(cc.all, ids)
		}
		for _, t := range cu.none {
			cc.none = append(cc.none, id(t))
		}
		ix.cues = append(ix.cues, cc)
	}
	return ix
}

// foldText lower-cases ASCII, folds full-width forms to half-width and
// drops whitespace, so "ＴｏＤｅｓｋ" and "To Desk" match "todesk".
func foldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == 0x3000 || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == 0xA0:
			continue
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == utf8.RuneError:
			continue
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// standsApart reports whether the digits text[i:end] stand apart from
// other digits: 12378 in an account number is not the regulator's
// hotline, nor 315 in "315元".
func standsApart(text string, i, end int) bool {
	before := i > 0 && (isDigit(text[i-1]) || text[i-1] == '.')
	after := end < len(text) && (isDigit(text[end]) || text[end] == '.')
	if !after && end < len(text) {
		r, _ := utf8.DecodeRuneInString(text[end:])
		after = strings.ContainsRune("元块号天分期次个万千米年月日岁", r)
	}
	return !before && !after
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// MaxWarnText bounds the bytes of an utterance that Warn reads.
const MaxWarnText = 8 << 10

// Warn spots, in one utterance, a customer being scammed right now, a
// complaint or escalation risk, and vulnerability. It returns the
// warnings scoring at least WarnThreshold, strongest kind first; at most
// one per kind.
func Warn(text string, wc WarnContext) []Warning {
	return warnScored(text, wc, WarnThreshold)
}

func warnScored(text string, wc WarnContext, threshold float64) []Warning {
	if len(text) > MaxWarnText {
		text = text[:MaxWarnText]
	}
	t := foldText(text)
	ix := index
	var present [512]bool // terms found; the lexicon has fewer terms than this
	have := present[:]
	if len(ix.terms) > len(have) {
		have = make([]bool, len(ix.terms))
	}
	for i, r := range t {
		for _, id := range ix.byFirst[r] {
			if !have[id] && strings.HasPrefix(t[i:], ix.terms[id]) && (!ix.digits[id] || standsApart(t, i, i+len(ix.terms[id]))) {
				have[id] = true
			}
		}
	}
	type acc struct {
		miss    float64 // product of (1 - weight) of the non-amplifier cues
		amp     float64 // likewise for amplifiers
		fired   bool
		signals []string
		zh      []string
	}
	// accumulators by kind and type; generic scam cues go under "".
	accs := map[[2]string]*acc{}
	get := func(kind, typ string) *acc {
		k := [2]string{kind, typ}
		a := accs[k]
		if a == nil {
			a = &acc{miss: 1, amp: 1}
			accs[k] = a
		}
		return a
	}
	fire := func(kind, typ, name, zh string, w float64, amp bool) {
		a := get(kind, typ)
		if amp {
			a.amp *= 1 - w
		} else {
			a.miss *= 1 - w
			a.fired = true
		}
		a.signals = append(a.signals, name)
		a.zh = append(a.zh, zh)
	}
next:
	for _, cc := range ix.cues {
		for _, n := range cc.none {
			if have[n] {
				continue next
			}
		}
		if len(cc.all) == 0 {
			continue
		}
		for _, g := range cc.all {
			ok := false
			for _, id := range g {
				if have[id] {
					ok = true
					break
				}
			}
			if !ok {
				continue next
			}
		}
		fire(cc.kind, cc.typ, cc.name, cc.zh, cc.weight, cc.amplifier)
	}
	if age := statedAge(t); age >= 60 || wc.Age >= 60 {
		fire(Vulnerable, "elderly", "age", "60岁以上", 0.7, false)
	}
	if wc.Contacts >= 3 {
		fire(ComplaintRisk, "repeat", "repeat_contacts", strconv.Itoa(wc.Contacts)+"次近期联系", min(0.25+0.08*float64(wc.Contacts-3), 0.45), false)
	}

	var out []Warning
	for _, kind := range []string{ScamVictim, ComplaintRisk, Vulnerable} {
		generic := accs[[2]string{kind, ""}]
		best := Warning{Kind: kind}
		consider := func(typ string, a *acc) {
			miss, amp, fired := a.miss, a.amp, a.fired
			signals, zh := a.signals, a.zh
			if generic != nil && typ != "" {
				miss *= generic.miss
				amp *= generic.amp
				fired = fired || generic.fired
				signals = append(slices.Clone(generic.signals), signals...)
				zh = append(slices.Clone(generic.zh), zh...)
			}
			if !fired {
				return
			}
			score := 1 - miss*amp
			if score > best.Score || (score == best.Score && best.Type == "" && typ != "") {
				best.Score, best.Type, best.Signals = score, typ, signals
				best.Detail = detail(kind, typ, zh)
			}
		}
		for k, a := range accs {
			if k[0] == kind {
				consider(k[1], a)
			}
		}
		if best.Score >= threshold {
			best.Score = math.Round(best.Score*1000) / 1000
			out = append(out, best)
		}
	}
	slices.SortStableFunc(out, func(a, b Warning) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out
}

var typeZH = map[string]string{
	"":                              "疑似正在被骗",
	"impersonated_customer_service": "疑似冒充客服诈骗",
	"refund_scam":                   "疑似退款理赔诈骗",
	"impersonated_police":           "疑似冒充公检法诈骗",
	"fake_loan":                     "疑似虚假贷款诈骗",
	"credit_repair":                 "疑似征信修复诈骗",
	"complaint_agent_fraud":         "疑似代理维权/反催收诈骗",
	"brushing_part_time":            "疑似刷单兼职诈骗",
	"fake_investment":               "疑似虚假投资理财诈骗",
	"impersonated_acquaintance":     "疑似冒充领导熟人诈骗",
	"regulator":                     "可能向监管部门投诉",
	"complaint":                     "有投诉意向",
	"media":                         "可能向媒体曝光",
	"police_legal":                  "可能报警或诉讼",
	"anger":                         "情绪激烈，投诉风险高",
	"repeat":                        "反复联系未解决",
	"elderly":                       "老年客户",
	"self_harm":                     "有轻生风险，请立即转人工关怀",
	"distress":                      "情绪困扰",
	"debt":                          "债务困难",
}

func detail(kind, typ string, zh []string) string {
	head := typeZH[typ]
	if head == "" {
		head = kind
	}
	seen := make([]string, 0, len(zh))
	for _, z := range zh {
		if !slices.Contains(seen, z) {
			seen = append(seen, z)
		}
	}
	return head + "：" + strings.Join(seen, "、")
}

// statedAge returns an age of 60 or more the customer states ("我68岁",
// "七十多岁了"), else 0.
func statedAge(t string) int {
	for off := 0; ; {
		i := strings.Index(t[off:], "岁")
		if i < 0 {
			break
		}
		i += off
		// Digits just before 岁 (allowing 多/了 between).
		j := i
		for j > 0 && t[j-1] >= '0' && t[j-1] <= '9' {
			j--
		}
		if j < i && i-j <= 3 {
			if n, err := strconv.Atoi(t[j:i]); err == nil && n >= 60 && n <= 120 {
				return n
			}
		}
		start := max(0, i-9)
		prefix := t[start:i]
		for _, aw := range ageWords {
			if strings.Contains(prefix, aw.word) {
				return aw.age
			}
		}
		off = i + len("岁")
	}
	for _, aw := range ageWords[4:] { // 六旬, 七旬, 八旬 stand alone
		if strings.Contains(t, aw.word) {
			return aw.age
		}
	}
	return 0
}
