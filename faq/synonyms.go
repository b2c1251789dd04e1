package faq

// DefaultSynonyms is the built-in list of the trade's terms and their
// variants: product names as customers misspell them (homophones, the
// wrong character from a pinyin keyboard), colloquial forms and
// synonyms. Written by the xiaobao authors for a consumer lender; a firm
// adds its own through Options.Synonyms or the synonyms endpoint.
// Variants are matched after full-width, case and traditional-character
// folding, so 額度 and ＥＤＵ need no entry of their own.
var DefaultSynonyms = []Synonym{
	// Product names (misspellings and homophones).
	{Term: "花呗", Variants: []string{"花贝", "花被", "花吧", "花钡", "花臂", "画呗", "华呗", "花呗呗", "huabei"}},
	{Term: "借呗", Variants: []string{"借吧", "借贝", "借被", "接呗", "借钡", "jiebei"}},
	{Term: "微粒贷", Variants: []string{"微立贷", "微利贷", "维粒贷", "微粒袋", "微粒带", "威粒贷", "微力贷", "微理贷", "微粒代", "薇粒贷"}},
	{Term: "支付宝", Variants: []string{"支付包", "支护宝", "支付保", "zfb"}},
	{Term: "余额宝", Variants: []string{"余额包", "于额宝"}},
	{Term: "微信", Variants: []string{"威信", "vx", "wx", "weixin"}},
	{Term: "app", Variants: []string{"客户端", "手机软件", "软件", "应用"}},
	// Limits.
	{Term: "提额", Variants: []string{"提高额度", "提升额度", "增加额度", "调高额度", "涨额度", "加额度", "额度提高", "额度提升", "额度增加", "额度调高", "提额度", "升额", "涨点额度", "提点额度", "加点额度", "多给点额度", "额度调高点"}},
	{Term: "降额", Variants: []string{"降低额度", "额度降低", "减少额度", "额度减少", "额度变少", "额度下降", "额度降了", "降额度"}},
	{Term: "额度", Variants: []string{"额渡", "额读", "信用额度", "可用额度", "授信额度", "额度值"}},
	// Repayment.
	{Term: "结清", Variants: []string{"还清", "全部还完", "一次性还完", "全部还清", "一次还清", "一次性还清", "全还了", "还完所有", "结束借款"}},
	{Term: "提前还款", Variants: []string{"提前还钱", "提早还款", "提早还"}},
	{Term: "还款", Variants: []string{"还钱", "还账", "还帐", "还贷", "还借款", "归还"}},
	{Term: "逾期", Variants: []string{"预期未还", "愈期", "逾欺", "过期没还", "超期", "晚还", "迟还", "逾期了"}},
	{Term: "分期", Variants: []string{"分期付款", "分期还款", "分几期", "分月还", "分开还"}},
	{Term: "账单", Variants: []string{"帐单", "对账单"}},
	{Term: "账户", Variants: []string{"帐户", "帐号", "账号"}},
	// Borrowing.
	{Term: "借款", Variants: []string{"借钱", "贷款", "借贷", "借点钱", "借个钱", "放款", "下款", "借支"}},
	{Term: "利息", Variants: []string{"利钱", "息费", "利率", "年化"}},
	{Term: "手续费", Variants: []string{"服务费", "手续费用"}},
	{Term: "到账", Variants: []string{"到帐", "到卡", "入账", "入帐", "打款"}},
	{Term: "征信", Variants: []string{"信用记录", "人行征信", "央行征信", "信用报告", "征信记录"}},
	// Account.
	{Term: "银行卡", Variants: []string{"储蓄卡", "借记卡", "卡号"}},
	{Term: "登录", Variants: []string{"登陆", "登入"}},
	{Term: "注销", Variants: []string{"销户", "删除账户", "注消"}},
	{Term: "验证码", Variants: []string{"短信码", "效验码", "校验码", "动态码"}},
	{Term: "手机号", Variants: []string{"手机号码", "电话号码", "手机号吗"}},
	{Term: "充值", Variants: []string{"冲值"}},
	{Term: "人工", Variants: []string{"人工客服", "真人客服", "转人工", "活人"}},
	{Term: "怎么", Variants: []string{"怎样", "如何", "咋", "怎么样", "怎么办"}},
	{Term: "为什么", Variants: []string{"为啥", "为何", "怎么回事", "什么原因"}},
	{Term: "什么", Variants: []string{"啥", "神马", "甚么"}},
	{Term: "可以", Variants: []string{"能否", "能不能", "可不可以", "是否可以"}},
}

// DefaultFillers are dropped from texts: greetings, politeness and
// sentence particles that say nothing about what is asked and only
// break the character bigrams around them (借了吗 / 借吗).
var DefaultFillers = []string{
	"你好", "您好", "请问", "谢谢", "麻烦", "一下", "你们", "我想问", "想问",
	"的", "了", "吗", "呢", "啊", "吧", "呀", "哦", "嘛", "哈", "啦", "嗯", "呃",
}
