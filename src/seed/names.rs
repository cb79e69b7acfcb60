//! Names: of people and companies, the shops and utilities that appear on
//! statements, and the banks of counterparties.

use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

const FIRST_NAMES: [&str; 64] = [
    "Ana",
    "Maria",
    "Juliana",
    "Fernanda",
    "Patrícia",
    "Aline",
    "Camila",
    "Amanda",
    "Bruna",
    "Letícia",
    "Larissa",
    "Mariana",
    "Gabriela",
    "Beatriz",
    "Vanessa",
    "Luana",
    "Adriana",
    "Simone",
    "Cláudia",
    "Renata",
    "Tatiane",
    "Débora",
    "Raquel",
    "Helena",
    "Alice",
    "Valentina",
    "Sophia",
    "Isabela",
    "Luíza",
    "Sandra",
    "Márcia",
    "Rosângela",
    "José",
    "João",
    "Antônio",
    "Francisco",
    "Carlos",
    "Paulo",
    "Pedro",
    "Lucas",
    "Luiz",
    "Marcos",
    "Luís",
    "Gabriel",
    "Rafael",
    "Daniel",
    "Marcelo",
    "Bruno",
    "Eduardo",
    "Felipe",
    "Raimundo",
    "Rodrigo",
    "Manoel",
    "Mateus",
    "André",
    "Fernando",
    "Fábio",
    "Leonardo",
    "Gustavo",
    "Guilherme",
    "Thiago",
    "Diego",
    "Miguel",
    "Arthur",
];

const SURNAMES: [&str; 60] = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Pinto",
    "Correia",
    "Cavalcanti",
    "Monteiro",
    "Moura",
    "Batista",
    "Campos",
    "Barros",
    "Duarte",
    "Castro",
    "Azevedo",
    "Medeiros",
    "Fonseca",
    "Rezende",
    "Brandão",
    "Sampaio",
    "Queiroz",
    "Pires",
    "Macedo",
    "Figueiredo",
    "Farias",
    "Tavares",
    "Bezerra",
    "Xavier",
];

const ACTIVITIES: [&str; 24] = [
    "Comércio de Alimentos",
    "Padaria e Confeitaria",
    "Materiais de Construção",
    "Serviços Contábeis",
    "Transportes",
    "Auto Peças",
    "Tecnologia da Informação",
    "Clínica Odontológica",
    "Restaurante",
    "Papelaria",
    "Moda e Acessórios",
    "Engenharia",
    "Farmácia",
    "Pet Shop",
    "Academia",
    "Consultoria",
    "Móveis Planejados",
    "Distribuidora de Bebidas",
    "Oficina Mecânica",
    "Salão de Beleza",
    "Escola de Idiomas",
    "Hortifruti",
    "Gráfica",
    "Imobiliária",
];

const COMPANY_SUFFIXES: [&str; 4] = ["Ltda", "Ltda", "ME", "EIRELI"];

pub(super) const MERCHANTS: [&str; 24] = [
    "SUPERMERCADO EXTRA",
    "ASSAI ATACADISTA",
    "CARREFOUR",
    "PAO DE ACUCAR",
    "IFOOD",
    "UBER TRIP",
    "99APP",
    "POSTO IPIRANGA",
    "POSTO SHELL",
    "DROGASIL",
    "DROGA RAIA",
    "AMAZON BR",
    "MERCADOLIVRE",
    "MAGAZINE LUIZA",
    "LOJAS RENNER",
    "NETFLIX.COM",
    "SPOTIFY",
    "CINEMARK",
    "OUTBACK",
    "MC DONALDS",
    "PADARIA REAL",
    "RESTAURANTE SABOR CASEIRO",
    "SMART FIT",
    "PETZ",
];

pub(super) const UTILITIES: [&str; 10] = [
    "ENEL SP",
    "SABESP",
    "VIVO FIXO",
    "CLARO",
    "COMGAS",
    "CEMIG",
    "LIGHT",
    "TIM",
    "CPFL",
    "NET SERVICOS",
];

pub(super) const BANKS: [&str; 14] = [
    "001", "033", "104", "237", "341", "260", "077", "290", "323", "756", "748", "212", "208",
    "422",
];

fn plain_upper(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'Á' | 'Â' | 'Ã' => 'A',
            'é' | 'ê' | 'É' | 'Ê' => 'E',
            'í' | 'Í' => 'I',
            'ó' | 'ô' | 'õ' | 'Ó' | 'Ô' | 'Õ' => 'O',
            'ú' | 'Ú' => 'U',
            'ç' | 'Ç' => 'C',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

pub(super) fn person_name(rng: &mut Xoshiro256PlusPlus) -> String {
    let first = FIRST_NAMES.choose(rng).expect("names");
    let a = SURNAMES.choose(rng).expect("surnames");
    let b = SURNAMES.choose(rng).expect("surnames");
    if a == b || rng.random_bool(0.4) {
        format!("{first} {a}")
    } else {
        format!("{first} {a} {b}")
    }
}

pub(super) fn company_name(rng: &mut Xoshiro256PlusPlus) -> String {
    let surname = SURNAMES.choose(rng).expect("surnames");
    let activity = ACTIVITIES.choose(rng).expect("activities");
    let suffix = COMPANY_SUFFIXES.choose(rng).expect("suffixes");
    format!("{surname} {activity} {suffix}")
}

/// Short statement form of a name: "MARIA S".
pub(super) fn short_name(name: &str) -> String {
    let mut parts = name.split_whitespace();
    let first = parts.next().unwrap_or_default();
    match parts.next() {
        Some(second) => plain_upper(&format!(
            "{first} {}",
            &second[..second.chars().next().map_or(0, char::len_utf8)]
        )),
        None => plain_upper(first),
    }
}
