from fastapi import APIRouter
router = APIRouter(prefix="/argo", tags=["Argo"])
