package emulator

// namePart is one given name or family name with the ASCII form used in
// e-mail addresses.
type namePart struct {
	display string
	ascii   string
}

// namePool is a set of names in one script. familyFirst orders the display
// name family name first, as Japanese names are written.
type namePool struct {
	weight      float64
	given       []namePart
	family      []namePart
	familyFirst bool
}

func ascii(names ...string) []namePart {
	parts := make([]namePart, len(names))
	for i, n := range names {
		parts[i] = namePart{display: n, ascii: n}
	}
	return parts
}

// namePools weights add up to 1: mostly plain Latin names, the rest spread
// over scripts that exercise UTF-8 handling downstream.
var namePools = []namePool{
	{
		weight: 0.70,
		given: ascii("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael",
			"Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph",
			"Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew",
			"Lisa", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley", "Steven", "Emily",
			"Andrew", "Donna", "Kevin", "Michelle", "Brian", "Carol", "Priya", "Wei", "Aisha",
			"Liam", "Olivia", "Noah", "Emma", "Ethan", "Ava", "Lucas", "Mia", "Kwame"),
		family: ascii("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis",
			"Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
			"Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
			"Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson",
			"Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker",
			"Evans", "Edwards", "Collins", "Stewart", "Morris", "Patel", "Chen", "Nguyen",
			"Okafor", "Kowalski", "Schmidt"),
	},
	{
		weight: 0.10,
		given: []namePart{{"José", "jose"}, {"Zoë", "zoe"}, {"Łukasz", "lukasz"},
			{"Søren", "soren"}, {"François", "francois"}, {"Ana Lucía", "analucia"},
			{"Çağla", "cagla"}, {"Björn", "bjorn"}, {"Inès", "ines"}, {"Jiří", "jiri"},
			{"Małgorzata", "malgorzata"}, {"Noémie", "noemie"}},
		family: []namePart{{"García", "garcia"}, {"Müller", "muller"}, {"Wójcik", "wojcik"},
			{"Kjær", "kjaer"}, {"Lefèvre", "lefevre"}, {"Peña", "pena"}, {"Öztürk", "ozturk"},
			{"Ångström", "angstrom"}, {"Dvořák", "dvorak"}, {"Núñez", "nunez"},
			{"Šimić", "simic"}, {"Gonçalves", "goncalves"}},
	},
	{
		weight: 0.06,
		given: []namePart{{"太郎", "taro"}, {"花子", "hanako"}, {"健", "ken"},
			{"美咲", "misaki"}, {"翔", "sho"}, {"陽菜", "hina"}, {"大輔", "daisuke"},
			{"さくら", "sakura"}},
		family: []namePart{{"山田", "yamada"}, {"佐藤", "sato"}, {"鈴木", "suzuki"},
			{"高橋", "takahashi"}, {"田中", "tanaka"}, {"伊藤", "ito"}, {"渡辺", "watanabe"},
			{"中村", "nakamura"}},
		familyFirst: true,
	},
	{
		weight: 0.05,
		given: []namePart{{"Иван", "ivan"}, {"Ольга", "olga"}, {"Дмитрий", "dmitry"},
			{"Наталья", "natalya"}, {"Сергей", "sergey"}, {"Анна", "anna"}},
		family: []namePart{{"Петров", "petrov"}, {"Смирнова", "smirnova"},
			{"Кузнецов", "kuznetsov"}, {"Попова", "popova"}, {"Соколов", "sokolov"},
			{"Волкова", "volkova"}},
	},
	{
		weight: 0.04,
		given: []namePart{{"Γιώργος", "giorgos"}, {"Ελένη", "eleni"}, {"Νίκος", "nikos"},
			{"Μαρία", "maria"}, {"Δημήτρης", "dimitris"}},
		family: []namePart{{"Παπαδόπουλος", "papadopoulos"}, {"Παππά", "pappa"},
			{"Οικονόμου", "oikonomou"}, {"Γεωργίου", "georgiou"}, {"Νικολάου", "nikolaou"}},
	},
	{
		weight: 0.05,
		given: []namePart{{"محمد", "mohammed"}, {"فاطمة", "fatima"}, {"أحمد", "ahmed"},
			{"ليلى", "layla"}, {"يوسف", "youssef"}, {"نور", "nour"}},
		family: []namePart{{"العلي", "alali"}, {"حداد", "haddad"}, {"المنصور", "almansour"},
			{"خليل", "khalil"}, {"السيد", "alsayed"}},
	},
}

var appNames = []string{
	"Jira Cloud for Slack", "Confluence Analytics", "Automation for Jira", "Zapier",
	"Draw.io Diagrams", "Scriptrunner", "Tempo Timesheets", "Microsoft Teams for Confluence",
	"GitHub for Jira", "Gliffy Diagrams", "Comala Document Management", "Backup Manager",
}

// company is the fictional organization the data belongs to. Domains use
// the reserved .example top-level domain so that no address is real.
type company struct {
	slug string
	name string
}

var companies = []company{
	{"acme", "Acme Corporation"}, {"globex", "Globex"}, {"initech", "Initech"},
	{"hooli", "Hooli"}, {"vandelay", "Vandelay Industries"}, {"tyrell", "Tyrell Corporation"},
	{"cyberdyne", "Cyberdyne Systems"}, {"wonka", "Wonka Industries"},
	{"soylent", "Soylent Corp"}, {"umbra", "Umbra Logistics"},
}

var externalDomains = []string{
	"gmail.example", "outlook.example", "contractor.example", "partner-agency.example",
	"freelance.example",
}

var customerDomains = []string{
	"customer-one.example", "bigclient.example", "retail-co.example", "help-me.example",
}
