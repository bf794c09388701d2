from sqlalchemy import text


def test_csr_signs_in_as_own_role(connect_as, test_users):
    db = connect_as("csr")
    with db.session() as s:
        assert s.execute(text("SELECT session_user")).scalar_one() == test_users["csr"].name
        assert s.execute(text("SELECT count(*) FROM discount_definition")).scalar_one() >= 10
