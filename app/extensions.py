"""Flask extensions, created unbound and initialised in the application factory."""

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from app.database import Base, PortalSession

db = SQLAlchemy(model_class=Base, session_options={"class_": PortalSession})
login_manager = LoginManager()
csrf = CSRFProtect()
