package sim

// Names, accounts, merchants and memos. Everything is derived from a key on
// the fly, so the simulator stores numbers, not strings.

var surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
	"胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭",
	"曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
	"任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦",
	"付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯", "龙", "史"}

var givenChars = []string{"伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇",
	"艳", "杰", "娟", "涛", "明", "超", "兰", "霞", "平", "刚", "桂", "华", "玉", "萍", "红", "玲", "燕",
	"春", "菊", "凤", "洁", "梅", "琳", "云", "雪", "荣", "爱", "香", "月", "佳", "嘉", "琼", "珍", "莉",
	"晶", "婷", "倩", "颖", "瑶", "怡", "丹", "蓉", "君", "琴", "薇", "岚", "欣", "宁", "晓", "欢", "宇",
	"浩", "鹏", "辉", "斌", "波", "宏", "峰", "建", "国", "志", "文", "海", "亮", "俊", "帆", "博", "凯"}

func appendPersonName(b []byte, k uint64) []byte {
	b = append(b, surnames[k%uint64(len(surnames))]...)
	k = mix(k)
	b = append(b, givenChars[k%uint64(len(givenChars))]...)
	if k>>32%5 != 0 {
		b = append(b, givenChars[(k>>16)%uint64(len(givenChars))]...)
	}
	return b
}

// Bank card prefixes (issuer identification numbers) of large Chinese banks.
var cardBINs = []string{"622202", "621700", "622848", "621483", "622588", "621226", "623668", "622908",
	"621799", "622700", "621661", "622260", "623058", "621559"}

func appendCard(b []byte, k uint64) []byte {
	b = append(b, cardBINs[k%uint64(len(cardBINs))]...)
	return appendPadded(b, mix(k)%10_000_000_000_000, 13)
}

var districts = []string{"福田", "南山", "罗湖", "宝安", "龙华", "龙岗", "天河", "越秀", "海珠", "番禺",
	"朝阳", "海淀", "西城", "浦东", "徐汇", "静安", "武侯", "锦江", "江干", "西湖", "鼓楼", "江汉", "雨花", "洪山"}

// Merchant categories: name, median amount in yuan, spread.
type merchantKind struct {
	name   string
	median float64
	sigma  float64
}

var merchantKinds = []merchantKind{
	{"美宜佳便利店", 18, 0.6}, {"7-Eleven便利店", 22, 0.6}, {"沙县小吃", 22, 0.4}, {"兰州拉面", 25, 0.4},
	{"瑞幸咖啡", 19, 0.3}, {"蜜雪冰城", 12, 0.4}, {"肯德基", 45, 0.5}, {"麦当劳", 42, 0.5},
	{"永辉超市", 120, 0.7}, {"华润万家", 110, 0.7}, {"盒马鲜生", 150, 0.6}, {"中国石化加油站", 280, 0.3},
	{"大参林药房", 65, 0.7}, {"老百姓大药房", 60, 0.7}, {"海底捞火锅", 260, 0.5}, {"优衣库", 280, 0.6},
	{"名创优品", 55, 0.6}, {"滴滴出行", 28, 0.6}, {"美团外卖", 35, 0.5}, {"钱大妈", 45, 0.5},
	{"理发店", 60, 0.5}, {"水果店", 38, 0.5}, {"面包店", 28, 0.5}, {"电影院", 90, 0.4},
}

// Merchants open at night: late-night payments go there.
var nightMerchantKinds = []merchantKind{
	{"市人民医院急诊", 600, 0.8}, {"24小时大药房", 150, 0.8}, {"汉庭酒店", 260, 0.4}, {"如家酒店", 230, 0.4},
	{"宠物医院急诊", 800, 0.7}, {"代驾服务", 90, 0.4}, {"烧烤夜宵", 160, 0.5}, {"网吧", 30, 0.5},
}

func merchantOf(k uint64, kinds []merchantKind) merchantKind { return kinds[k%uint64(len(kinds))] }

func appendTerminal(b []byte, k uint64) []byte {
	b = append(b, "T4403"...)
	return appendPadded(b, mix(k)%10_000_000_000, 10)
}

func appendMerchantName(b []byte, k uint64, kinds []merchantKind) []byte {
	b = append(b, merchantOf(k, kinds).name...)
	b = append(b, '(')
	b = append(b, districts[mix(k+1)%uint64(len(districts))]...)
	return append(b, "店)"...)
}

var universities = []string{"深圳大学", "华南理工大学", "中山大学", "暨南大学", "广东工业大学", "武汉大学",
	"华中科技大学", "四川大学", "西南交通大学", "浙江工业大学", "南京师范大学", "湖南大学", "郑州大学", "山东大学"}

var agencies = []string{"链家地产", "我爱我家", "中原地产", "贝壳找房", "麦田房产", "21世纪不动产"}

// Org accounts: a university's or an agency's corporate account.
const (
	orgUniversity = iota
	orgAgency
)

func appendOrgAccount(b []byte, k uint64) []byte {
	b = append(b, "4000"...)
	return appendPadded(b, mix(k^0x55)%1_000_000_000_000_000, 15)
}

func appendOrgName(b []byte, kind int, k uint64) []byte {
	switch kind {
	case orgUniversity:
		return append(b, universities[k%uint64(len(universities))]...)
	default:
		b = append(b, agencies[k%uint64(len(agencies))]...)
		b = append(b, '(')
		b = append(b, districts[mix(k)%uint64(len(districts))]...)
		return append(b, "店)"...)
	}
}

// Public address blocks of Chinese ISPs; the simulator only writes these
// addresses into events, it never contacts them.
var ipFirstOctets = []byte{36, 39, 42, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116,
	117, 119, 120, 121, 122, 123, 124, 125, 175, 180, 182, 183, 211, 218, 219, 220, 221, 222, 223}

// ipOf makes an IPv4 address (as a uint32) from a key.
func ipOf(k uint64) uint32 {
	k = mix(k)
	a := uint32(ipFirstOctets[k%uint64(len(ipFirstOctets))])
	return a<<24 | uint32(k>>8)&0xffff00 | uint32(1+(k>>40)%254)
}

func appendIP(b []byte, ip uint32) []byte {
	b = appendUint(b, uint64(ip>>24))
	b = append(b, '.')
	b = appendUint(b, uint64(ip>>16&255))
	b = append(b, '.')
	b = appendUint(b, uint64(ip>>8&255))
	b = append(b, '.')
	return appendUint(b, uint64(ip&255))
}

// Memos. Normal memos must not contain scam vocabulary; scam memos are what
// scripts make victims type (and often nothing: "" is frequent).
var (
	memoFamily   = []string{"生活费", "给妈的", "家用", "爸妈生活费", "", "", "孝敬爸妈", "买点好吃的"}
	memoRent     = []string{"房租", "房租", "房租水电", "本月房租", ""}
	memoFriend   = []string{"饭钱", "AA", "还你的钱", "红包", "", "", "", "奶茶", "车费", "电影票", "份子钱"}
	memoProfile  = []string{"", "", "修改地址", "更新职业信息", "更换联系人"}
	memoRepay    = []string{"", "", "", "还款"}
	memoWithdraw = []string{"", "", "提现"}

	memoCS       = []string{"注销校园贷", "安全账户", "注销账户", "清空额度", "关闭账户", "影响征信", "", ""}
	memoRefund   = []string{"快递理赔", "理赔", "退款验证", "双倍赔偿", "退货退款", "", ""}
	memoBrush    = []string{"刷单", "做任务", "垫付", "佣金", "", "", "货款"}
	memoInvest   = []string{"投资", "理财", "USDT", "充值", "", "", "", "导师带单"}
	memoInvestFx = []string{"提现手续费", "保证金", "解冻", "个税"}
	memoFakeLoan = []string{"解冻费", "保证金", "验资", "激活费", "工本费", "刷流水", ""}
	memoCredit   = []string{"征信修复", "消除逾期", "服务费", "修复征信", ""}
	memoPolice   = []string{"安全账户", "资金核查", "配合调查", "国家账户", "清查资金", "", ""}
	memoMuleIn   = []string{"", "", "", "货款", "还款", "投资", "刷单", "安全账户", "理赔"}
	memoGamble   = []string{"", "", "", "", "", "上分", "充值", "彩金"}
	memoAgentPro = []string{"修改联系电话", "变更联系人", "修改工作单位", ""}
	memoAgentRep = []string{"协商还款", "停息挂账", "申请减免罚息", "投诉协商", "个性化分期"}
	memoAgentFee = []string{"服务费", "代理费", "咨询费", "协商费", ""}

	memoTuition = []string{"学费", "学费", "学费住宿费", ""}
	memoNewPal  = []string{"借你的", "还钱", "", "", "饭钱", "押金"}
	memoNight   = []string{"急用", "医药费", "", ""}
	memoHouse   = []string{"定金", "购房定金", "房屋定金", "租房押金", ""}
)
